"""Every read of the reports app: worth-it scores and the ledger figures, aggregated in SQL.

Other apps use `kept_worth_it_scores` (the worklist, the customer page: the kept scores, which the
worklist also sorts and filters by through `Customer.worth_it`), `worth_it_scores` (computed for a day)
and `worth_it_ranking`.
"""

from .ledger import (  # noqa: F401, E402  (the ledger figures)
    AGING_BUCKETS,
    DEFINITIONS,
    LedgerFigures,
    LedgerScope,
    ledger_figures,
    ledger_trend,
)
from .scores import kept_worth_it_scores  # noqa: F401  (the kept scores, reports/scores.py)
from .worth_it import (  # noqa: F401  (the public interface of the worth-it score)
    EFFORT_COMPONENTS,
    WorthIt,
    WorthItComponent,
    worth_it_ranking,
    worth_it_scores,
)
