"""`python -m guardrails_ecs_nonrootuser`: the same as the `ecs-nonroot` command."""

from .cli import main

raise SystemExit(main())
