"""The ``armsledger`` command line: one module per command group, built into one parser by ``nodes.cli.main``."""


def main() -> int:
    """The ``armsledger`` console script: runs ``nodes.cli.main.main``, imported only now.

    The script's module is imported again by every worker process a command spawns (``nodes.workers``):
    importing this package alone keeps a worker of ``armsledger verify`` from importing every command
    group and what they use (about 1 s of CPU per worker), which it does not need.
    """
    from nodes.cli.main import main as run_command

    return run_command()
