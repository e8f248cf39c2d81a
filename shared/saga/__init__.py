"""The saga engine: declare steps in a SagaDefinition; run it with ``yield from run_saga(...)``,
or drive it from plain code with ``run_saga_code`` and a try/finally compensation chain.

Activities return ``ok(value)`` or ``failure(code, message)``; see ``outcome``.
"""

from shared.idempotency.records import compensation_key
from shared.saga.call import StepCall
from shared.saga.chain import SagaCode, StepFailed, run_saga_code
from shared.saga.contract import Contract
from shared.saga.definition import (
    ActivityRef,
    ApprovalGate,
    FanOut,
    ParallelGroup,
    RetryPolicy,
    SagaDefinition,
    SagaDefinitionError,
    Step,
    StepKind,
)
from shared.saga.keys import action_key
from shared.saga.outcome import EngineCode, Envelope, StepError, failure, ok, parse_envelope
from shared.saga.registration import check_registered
from shared.saga.runner import run_saga
from shared.saga.signals import CANCEL_EVENT, RETRY_EVENT
from shared.saga.status import SagaStatus, StepStatus

COMPENSATABLE = StepKind.COMPENSATABLE
PIVOT = StepKind.PIVOT
RETRIABLE = StepKind.RETRIABLE

__all__ = [
    "CANCEL_EVENT",
    "COMPENSATABLE",
    "PIVOT",
    "RETRIABLE",
    "RETRY_EVENT",
    "ActivityRef",
    "ApprovalGate",
    "Contract",
    "EngineCode",
    "Envelope",
    "FanOut",
    "ParallelGroup",
    "RetryPolicy",
    "SagaCode",
    "SagaDefinition",
    "SagaDefinitionError",
    "SagaStatus",
    "Step",
    "StepCall",
    "StepError",
    "StepFailed",
    "StepKind",
    "StepStatus",
    "action_key",
    "check_registered",
    "compensation_key",
    "failure",
    "ok",
    "parse_envelope",
    "run_saga",
    "run_saga_code",
]
