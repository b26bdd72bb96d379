"""The README's "Who may do what" table is the capability table of customers/access.py, cell for cell."""

from pathlib import Path

from customers.access import ROLE_CAPABILITIES, Capability, Role

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_table() -> dict[str, list[str]]:
    section = README.read_text().split("## Who may do what", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        if line.startswith("| ") and "(`" in line:
            cells = [cell.strip() for cell in line.strip("|").split("|")]
            rows[cells[0].rsplit("(`", 1)[1].rstrip("`)")] = cells[1:]
    return rows


def test_readme_permission_table_matches_the_code():
    header = next(line for line in README.read_text().splitlines() if line.startswith("| Capability |"))
    assert [cell.strip() for cell in header.strip("|").split("|")[1:]] == [role.label for role in Role]
    expected = {
        capability.value: ["yes" if capability in ROLE_CAPABILITIES[role] else "—" for role in Role]
        for capability in Capability
    }
    assert readme_table() == expected


def test_finance_leads_change_nothing_and_integrators_read_no_conversation():
    reads = {Capability.READ_LEDGER, Capability.READ_DISPUTES, Capability.READ_CONVERSATIONS}
    assert ROLE_CAPABILITIES[Role.FINANCE_LEAD] <= reads | {Capability.BROWSE_PAGES, Capability.READ_REPORTS}
    assert Capability.READ_CONVERSATIONS not in ROLE_CAPABILITIES[Role.INTEGRATOR]
    assert ROLE_CAPABILITIES[Role.CREDIT_MANAGER] == frozenset(Capability)
