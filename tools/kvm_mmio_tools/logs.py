"""structlog configuration, done once by the CLI: key-value events on stderr, JSON with --log-json.

Library modules only call ``structlog.get_logger()``; user-facing output is printed by the commands.
"""

import logging
import sys

import structlog


def configure(*, json_output: bool, verbosity: int) -> None:
    """Route structlog events to stderr; WARNING by default, INFO with -v, DEBUG with -vv."""
    level = {0: logging.WARNING, 1: logging.INFO}.get(verbosity, logging.DEBUG)
    renderer = (
        structlog.processors.JSONRenderer()
        if json_output
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso"),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
