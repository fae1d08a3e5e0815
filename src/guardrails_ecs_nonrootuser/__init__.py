"""Guardrails::ECS::NonRootUser: a CloudFormation Hook, and the same policy as a command."""

__version__ = "0.2.0"
