"""Bank statement files in, plain data out: `parse_statement_file(content, name)` picks the format.

Parsers never touch the database. A file that is not well-formed or breaks the standard is refused
whole with a StatementFileError naming the line and element (or MT940 tag) at fault.
"""

from .base import ParsedStatement, ParsedTransaction, StatementFileError
from .camt053 import parse_camt053
from .mt940 import parse_mt940


def parse_statement_file(content: bytes, name: str = "") -> list[ParsedStatement]:
    """Every statement in the file: camt.053 when it is XML, else MT940."""
    head = content.lstrip()[:200]
    if head.startswith(b"<") or head.startswith(b"\xef\xbb\xbf<"):
        return parse_camt053(content)
    if b":20:" in content[:2000]:
        return parse_mt940(content)
    raise StatementFileError(f"{name or 'The file'} is neither a camt.053 (XML) nor an MT940 statement.")


__all__ = ["ParsedStatement", "ParsedTransaction", "StatementFileError", "parse_statement_file"]
