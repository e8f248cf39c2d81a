"""Retry policies and timeouts the sample sagas share."""

from shared.saga import RetryPolicy

# Steps before the pivot may give up (the saga then compensates); compensations, the pivot and
# the steps after it must get through, so they retry for longer before asking an operator.
MAY_GIVE_UP = RetryPolicy(
    max_attempts=5, first_interval_seconds=1, backoff_coefficient=2, max_interval_seconds=30
)
MUST_FINISH = RetryPolicy(
    max_attempts=12, first_interval_seconds=1, backoff_coefficient=2, max_interval_seconds=60
)
STEP_TIMEOUT_SECONDS = 120
