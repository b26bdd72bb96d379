"""Turning a step's templates into the words of one reminder, and checking them when they are saved.

A step template is written by a credit manager and its words go out to customers, so it sees plain
values only: the frozen dataclasses and strings that `reminder_context` builds, never a model
instance (a model would lead to `customer.collector.password` or to other customers through related
managers). Its engine knows only the tags and filters of `template_library`, and
`template_problems` refuses, when a step is saved, any variable or attribute outside
`TEMPLATE_VARIABLES`, so a typo or a probe is caught by the person who made it.

Every channel's words are plain text (the email body is text/plain, SMS, the call task's reason, the
body of a letter), so they are rendered without HTML escaping; the PDF letter escapes the body
itself when it places it in HTML.
"""

from collections import defaultdict
from dataclasses import dataclass, fields
from datetime import date
from decimal import Decimal
from functools import lru_cache

from django.template import Context, Engine, Template, TemplateSyntaxError
from django.template.base import FilterExpression, Node, NodeList, TextNode, Variable, VariableNode
from django.template.defaulttags import CommentNode, ForNode, IfNode, WithNode
from django.utils.formats import number_format


class _StepTemplateEngine(Engine):
    # Start from no built-in tags or filters at all: `template_library` lists what is allowed.
    default_builtins: list[str] = []


TEXT_ENGINE = _StepTemplateEngine(autoescape=False, builtins=["dunning.template_library"])


@dataclass(frozen=True)
class ReminderCustomer:
    """The customer as a reminder may name it."""

    name: str
    account_number: str
    email: str
    phone: str
    address_line: str
    postal_code: str
    city: str
    country: str


@dataclass(frozen=True)
class ReminderContact:
    """The customer's primary contact, the person a reminder is addressed to."""

    name: str
    email: str
    phone: str


@dataclass(frozen=True)
class ReminderStep:
    """Where the reminder stands on its policy's ladder."""

    offset_days: int
    channel: str
    tone: str


@dataclass(frozen=True)
class InvoiceLine:
    """An invoice as a reminder lists it, with what is open on the reminder's day."""

    invoice_id: int
    number: str
    issue_date: date
    due_date: date
    currency: str
    amount: Decimal
    open_amount: Decimal
    days_overdue: int


@dataclass(frozen=True)
class CurrencyTotal:
    currency: str
    open_amount: Decimal
    count: int


@lru_cache(maxsize=256)
def compile_template(source: str) -> Template:
    """Compile a step template once per process (steps change rarely, runs render thousands)."""
    return TEXT_ENGINE.from_string(source)


def money(amount: Decimal, currency: str) -> str:
    return f"{currency} {number_format(amount, decimal_pos=2, use_l10n=True, force_grouping=True)}"


def totals_by_currency(lines: list[InvoiceLine]) -> list[CurrencyTotal]:
    """One total per currency: amounts in different currencies are never added together."""
    sums: dict[str, Decimal] = defaultdict(Decimal)
    counts: dict[str, int] = defaultdict(int)
    for line in lines:
        sums[line.currency] += line.open_amount
        counts[line.currency] += 1
    return [CurrencyTotal(currency, sums[currency], counts[currency]) for currency in sorted(sums)]


def invoice_table(lines: list[InvoiceLine]) -> str:
    """The invoices as an aligned plain-text table, for emails and letters."""
    rows = [("Invoice", "Issued", "Due", "Days late", "Open")]
    rows += [
        (
            line.number,
            line.issue_date.isoformat(),
            line.due_date.isoformat(),
            str(line.days_overdue) if line.days_overdue > 0 else "not yet due",
            money(line.open_amount, line.currency),
        )
        for line in lines
    ]
    widths = [max(len(row[column]) for row in rows) for column in range(5)]
    text = [
        "  ".join(
            cell.rjust(width) if column == 4 else cell.ljust(width)
            for column, (cell, width) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in rows
    ]
    return "\n".join(text)


def reminder_context(*, customer, contact, lines: list[InvoiceLine], step, run_on: date, sender: str) -> dict:
    """What a step template may use (`TEMPLATE_VARIABLES`), as plain values copied from the models."""
    totals = totals_by_currency(lines)
    return {
        "customer": customer_facts(customer),
        "contact": contact_facts(contact) if contact else None,
        "contact_name": contact.name if contact else customer.name,
        "invoices": list(lines),
        "invoice_table": invoice_table(lines),
        "totals": totals,
        "totals_text": ", ".join(money(total.open_amount, total.currency) for total in totals),
        "days_overdue": max((line.days_overdue for line in lines), default=0),
        "step": ReminderStep(offset_days=step.offset_days, channel=str(step.channel), tone=str(step.tone)),
        "today": run_on,
        "sender": sender,
    }


def customer_facts(customer) -> ReminderCustomer:
    return _copy(customer, ReminderCustomer)


def contact_facts(contact) -> ReminderContact:
    return _copy(contact, ReminderContact)


def _copy(instance, facts: type):
    """The named fields of a model instance, copied into a frozen dataclass of plain values."""
    return facts(**{field.name: getattr(instance, field.name) for field in fields(facts)})


def render_text(source: str, context: dict) -> str:
    # Context() escapes HTML unless told otherwise, whatever the engine says: plain text must not
    # turn "Smith & Sons" into "Smith &amp; Sons".
    return compile_template(source).render(Context(context, autoescape=False)).strip()


# --- What a template may name, and the check when a step is saved ------------------------------


@dataclass(frozen=True, eq=False)
class _Record:
    """A value with named parts (`customer.name`); `parts` maps each part to its own shape."""

    label: str
    parts: dict


@dataclass(frozen=True, eq=False)
class _Rows:
    """A list of records (`invoices`): looped over with `for`, or indexed (`invoices.0`)."""

    label: str
    row: _Record


VALUE = None  # a plain value (text, number, date): shaped with filters, it has no parts


def _record_of(label: str, cls, leave_out: tuple[str, ...] = ()) -> _Record:
    return _Record(label, {field.name: VALUE for field in fields(cls) if field.name not in leave_out})


_INVOICE = _record_of("an invoice", InvoiceLine, leave_out=("invoice_id",))
_TOTAL = _record_of("a total", CurrencyTotal)
_FORLOOP = _Record(
    "forloop", dict.fromkeys(("counter", "counter0", "revcounter", "revcounter0", "first", "last"))
)
_FORLOOP.parts["parentloop"] = _FORLOOP

# The variables a step template may use, with their meaning (README "Dunning" lists the same).
TEMPLATE_VARIABLES: dict = {
    "customer": _record_of("customer", ReminderCustomer),
    "contact": _record_of("contact", ReminderContact),
    "contact_name": VALUE,
    "invoices": _Rows("invoices", _INVOICE),
    "invoice_table": VALUE,
    "totals": _Rows("totals", _TOTAL),
    "totals_text": VALUE,
    "days_overdue": VALUE,
    "step": _record_of("step", ReminderStep),
    "today": VALUE,
    "sender": VALUE,
}

# Filters that keep a list a list, or pick one of its rows; every other filter gives a plain value.
_LIST_FILTERS = frozenset({"slice"})
_ROW_FILTERS = frozenset({"first", "last"})


def template_problems(source: str) -> list[str]:
    """Why a step template cannot be saved: it does not compile, or names something not offered.

    Empty when the template is fine. Tags and filters outside `template_library` fail to compile;
    variables and their parts are checked against `TEMPLATE_VARIABLES`, following `for` and `with`.
    """
    try:
        template = compile_template(source)
    except TemplateSyntaxError as error:
        return [f"Template error: {error}{_what_is_offered(str(error))}"]
    problems: list[str] = []
    _check_nodelist(template.nodelist, dict(TEMPLATE_VARIABLES), problems)
    return list(dict.fromkeys(problems))


def _what_is_offered(message: str) -> str:
    from .template_library import ALLOWED_FILTERS, ALLOWED_TAGS

    if message.startswith("Invalid block tag"):
        return f" Tags you can use: {', '.join(ALLOWED_TAGS)}."
    if message.startswith("Invalid filter"):
        return f". Filters you can use: {', '.join(sorted((*ALLOWED_FILTERS, 'intcomma')))}."
    return ""


def _check_nodelist(nodelist: NodeList, scope: dict, problems: list[str]) -> None:
    for node in nodelist:
        _check_node(node, scope, problems)


def _check_node(node: Node, scope: dict, problems: list[str]) -> None:
    if isinstance(node, TextNode | CommentNode):
        return
    if isinstance(node, VariableNode):
        _shape_of(node.filter_expression, scope, problems)
    elif isinstance(node, IfNode):
        for condition, nodelist in node.conditions_nodelists:
            _check_condition(condition, scope, problems)
            _check_nodelist(nodelist, scope, problems)
    elif isinstance(node, ForNode):
        sequence = _shape_of(node.sequence, scope, problems)
        if len(node.loopvars) != 1:
            problems.append("A for loop takes one name: {% for invoice in invoices %}.")
            return
        inner = dict(scope, forloop=_FORLOOP)
        inner[node.loopvars[0]] = sequence.row if isinstance(sequence, _Rows) else VALUE
        _check_nodelist(node.nodelist_loop, inner, problems)
        _check_nodelist(node.nodelist_empty, scope, problems)
    elif isinstance(node, WithNode):
        inner = dict(scope)
        for name, expression in node.extra_context.items():
            inner[name] = _shape_of(expression, scope, problems)
        _check_nodelist(node.nodelist, inner, problems)
    else:  # the engine offers no other tag; refuse rather than let an unchecked one through
        problems.append(f"Unsupported template tag: {node.__class__.__name__}.")


def _check_condition(condition, scope: dict, problems: list[str]) -> None:
    """An `if` condition: a tree of operators whose leaves hold filter expressions."""
    if condition is None:  # the `else` branch
        return
    if isinstance(getattr(condition, "value", None), FilterExpression):
        _shape_of(condition.value, scope, problems)
    for operand in (getattr(condition, "first", None), getattr(condition, "second", None)):
        if operand is not None:
            _check_condition(operand, scope, problems)


def _shape_of(expression: FilterExpression, scope: dict, problems: list[str]):
    """The shape of what an expression gives, noting any name it uses that is not offered."""
    shape = _lookup(expression.var, scope, problems) if isinstance(expression.var, Variable) else VALUE
    for function, arguments in expression.filters:
        for is_variable, argument in arguments:
            if is_variable:
                _lookup(argument, scope, problems)
        name = getattr(function, "_filter_name", "")
        if isinstance(shape, _Rows) and name in _ROW_FILTERS:
            shape = shape.row
        elif not (isinstance(shape, _Rows) and name in _LIST_FILTERS):
            shape = VALUE
    return shape


def _lookup(variable: Variable, scope: dict, problems: list[str]):
    if variable.lookups is None:  # a literal: "text", 3
        return VALUE
    name, *parts = variable.lookups
    if name not in scope:
        problems.append(f'Unknown variable "{name}". Available: {", ".join(sorted(scope))}.')
        return VALUE
    shape = scope[name]
    path = name
    for part in parts:
        path = f"{path}.{part}"
        if isinstance(shape, _Record) and part in shape.parts:
            shape = shape.parts[part]
        elif isinstance(shape, _Rows) and part.isdigit():
            shape = shape.row
        else:
            problems.append(f'Unknown variable "{path}". {_offer(shape)}')
            return VALUE
    return shape


def _offer(shape) -> str:
    if isinstance(shape, _Record):
        return f"{shape.label.capitalize()} has: {', '.join(shape.parts)}."
    if isinstance(shape, _Rows):
        return f"Loop over {shape.label} with for, or take one by position ({shape.label}.0)."
    return "It is a plain value: shape it with a filter (e.g. |date, |upper)."
