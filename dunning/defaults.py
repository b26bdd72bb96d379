"""The default policy "Standard": what a new installation sends, before anyone edits it.

Shared by the data migration that creates it and by `services.ensure_standard_policy`, so both
describe the same ladder.
"""

STANDARD_POLICY_NAME = "Standard"

FRIENDLY_BODY = """Dear {{ contact_name }},

A friendly heads-up: the invoice(s) below fall due in the next few days.

{{ invoice_table }}

Total: {{ totals_text }}

If payment is already on its way, thank you, and please ignore this message.

Kind regards,
{{ sender }}"""

POLITE_BODY = """Dear {{ contact_name }},

According to our records the invoice(s) below are now past their due date.

{{ invoice_table }}

Total outstanding: {{ totals_text }}

Could you please arrange payment, or let us know if something is holding it up?
If you have paid in the last few days, thank you, and please disregard this reminder.

Kind regards,
{{ sender }}"""

FIRM_BODY = """Dear {{ contact_name }},

Despite our earlier reminder, the invoice(s) below remain unpaid.

{{ invoice_table }}

Total overdue: {{ totals_text }}

Please pay within 7 days. Our collector will call you to agree on a payment date; if you dispute
any of these invoices, tell us now so we can resolve it.

Regards,
{{ sender }}"""

FINAL_BODY = """Dear {{ contact_name }},

FINAL NOTICE

The {{ invoices|length }} invoice(s) listed below are more than 30 days overdue, despite our
reminders and calls. Total overdue: {{ totals_text }}.

Unless we receive payment within 14 days of this letter, we will place your account on credit hold
and may hand the debt to a collection agency, with the costs that entails.

{{ sender }}"""

STANDARD_STEPS = [
    {
        "offset_days": -3,
        "channel": "email",
        "tone": "friendly",
        "action": "",
        "subject_template": "Coming up: {{ invoices|length }} invoice(s) due soon, {{ totals_text }}",
        "body_template": FRIENDLY_BODY,
    },
    {
        "offset_days": 3,
        "channel": "email",
        "tone": "polite",
        "action": "",
        "subject_template": "Payment reminder: {{ invoices|length }} invoice(s) overdue, {{ totals_text }}",
        "body_template": POLITE_BODY,
    },
    {
        "offset_days": 7,
        "channel": "email",
        "tone": "firm",
        "action": "call_task",
        "subject_template": "Second reminder: {{ totals_text }} overdue",
        "body_template": FIRM_BODY,
    },
    {
        "offset_days": 30,
        "channel": "letter",
        "tone": "final",
        "action": "credit_hold",
        "subject_template": "Final notice: {{ totals_text }} overdue",
        "body_template": FINAL_BODY,
    },
]
