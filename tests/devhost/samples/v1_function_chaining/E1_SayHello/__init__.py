# ruff: noqa: N999 (v1 function folders are named after their functions)
"""v1 activity."""


def main(name: str) -> str:
    return f"Hello {name}!"
