"""Every read of the reports app: worth-it scores and the ledger figures, aggregated in SQL.

Other apps use `worth_it_scores` (the worklist, the customer page) and `worth_it_ranking`.
"""

from .worth_it import (  # noqa: F401  (the public interface of the worth-it score)
    EFFORT_COMPONENTS,
    WorthIt,
    WorthItComponent,
    worth_it_ranking,
    worth_it_scores,
)
