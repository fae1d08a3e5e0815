"""A pytest plugin for `cfn test` runs: append each contract test's outcome to a JSON-lines file.

`cfn test` runs pytest once per input set; run_contract.py loads this plugin into each run
(`-p contract_report`) and names the file in CONTRACT_REPORT.
"""

import json
import os

import pytest


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call" or report.outcome != "passed":
        with open(os.environ["CONTRACT_REPORT"], "a", encoding="utf-8") as out:
            out.write(json.dumps({"test": report.nodeid, "outcome": report.outcome}) + "\n")
