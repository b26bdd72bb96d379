"""The words of the calls app: how we reached the customer, what came of it, and what they said."""

from django.db import models


class InteractionChannel(models.TextChoices):
    PHONE = "phone", "Phone"
    EMAIL = "email", "Email"
    LETTER = "letter", "Letter"
    SMS = "sms", "SMS"
    VISIT = "visit", "Visit"
    PORTAL = "portal", "Portal"  # the customer answered through their personal link (portal/)


class Direction(models.TextChoices):
    OUTBOUND = "outbound", "Outbound"
    INBOUND = "inbound", "Inbound"


class Outcome(models.TextChoices):
    REACHED = "reached", "Reached"
    NO_ANSWER = "no_answer", "No answer"
    VOICEMAIL = "voicemail", "Voicemail"
    WRONG_NUMBER = "wrong_number", "Wrong number"
    PROMISE = "promise", "Promise to pay"
    DISPUTE = "dispute", "Dispute"
    EXCUSE = "excuse", "Excuse"
    REFUSED = "refused", "Refused to pay"


class ExcuseCategory(models.TextChoices):
    INVOICE_NOT_RECEIVED = "invoice_not_received", "Invoice not received"
    MOVED_OFFICES = "moved_offices", "Moved offices"
    PERSON_AWAY = "person_away", "Person away"
    INVOICE_UNCLEAR = "invoice_unclear", "Invoice unclear"
    TOTAL_HIGHER = "total_higher", "Total higher than expected"
    CHARGE_NOT_RECOGNISED = "charge_not_recognised", "Charge not recognised"
    DOUBLE_CHARGE = "double_charge", "Double charge"
    DISSATISFIED = "dissatisfied", "Dissatisfied"
    CASH_FLOW = "cash_flow", "Cash-flow trouble"
    PAYING_OTHER_DEBTS = "paying_other_debts", "Paying other debts first"
    OTHER = "other", "Other"


class ComplaintCategory(models.TextChoices):
    PRICING = "pricing", "Pricing"
    QUANTITY = "quantity", "Quantity"
    QUALITY = "quality", "Quality"
    DELIVERY = "delivery", "Delivery"
    NOT_ORDERED = "not_ordered", "Not ordered"
    DUPLICATE = "duplicate", "Duplicate invoice"
    OTHER = "other", "Other"


class ComplaintOutcome(models.TextChoices):
    UPHELD = "upheld", "Upheld"
    REJECTED = "rejected", "Rejected"


class TaskKind(models.TextChoices):
    CALL = "call", "Call the customer"
    FOLLOW_UP_PROMISE = "follow_up_promise", "Follow up a promise"
    BROKEN_AGREEMENT = "broken_agreement", "Agreement broken"
    REVIEW_PREPAYMENT = "review_prepayment", "Review prepayment only"
    REVIEW_CREDIT_HOLD = "review_credit_hold", "Review credit hold"
    PORTAL_ANSWER = "portal_answer", "Answer from the portal"
    OTHER = "other", "Other"


class TaskStatus(models.TextChoices):
    OPEN = "open", "Open"
    DONE = "done", "Done"
    CANCELLED = "cancelled", "Cancelled"


class PlanProposalState(models.TextChoices):
    PENDING = "pending", "Waiting for a decision"
    ACCEPTED = "accepted", "Accepted"
    DECLINED = "declined", "Declined"
