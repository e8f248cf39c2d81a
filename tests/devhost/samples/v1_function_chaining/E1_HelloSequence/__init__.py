# ruff: noqa: N999 (v1 function folders are named after their functions)
"""v1 orchestrator: three greetings in a row."""

import azure.durable_functions as df


def sequence(context: df.DurableOrchestrationContext):
    greetings = []
    for city in ("Tokyo", "Seattle", "London"):
        greetings.append((yield context.call_activity("E1_SayHello", city)))
    return greetings


main = df.Orchestrator.create(sequence)
