"""Record workflow histories for the replay tests (tests/histories/*.json).

Run after a deliberate change to a workflow's history shape, then commit the files:
    .venv/bin/python scripts/record_histories.py
The replay tests then prove that today's workflow code still replays those histories.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


async def record() -> None:
    os.environ["CCB_DATA_DIR"] = tempfile.mkdtemp(prefix="ccb-record-")
    # Fixtures keep payloads in clear and whole: replay must not need this run's keys or
    # payload store (the codec passes such payloads through, so they replay either way).
    os.environ["CCB_PAYLOAD_CLAIM_BYTES"] = "0"
    os.environ["CCB_PAYLOAD_KEYS"] = ""
    from temporalio.testing import WorkflowEnvironment

    from infra.payload_codec import data_converter
    from infra.temporal import INTEGRATION_SLUG, INTEGRATION_STATE
    from models.intake import IntakeInput, IntakeResult
    from tests.conftest import running_worker
    from tests.creation_recording import record_creation_histories
    from tests.monitor_recording import record_monitor_histories
    from tests.update_recording import record_update_histories
    from workflows.intake import IntegrationIntakeWorkflow

    out = ROOT / "tests" / "histories"
    out.mkdir(exist_ok=True)
    body = (ROOT / "starter" / "sample_request.md").read_text()
    cases = {
        "intake_accepted": body,
        "intake_refused": body.replace("api-client", "telepathy"),
    }
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(Path(sys.executable).parent / "temporal"),
        data_converter=data_converter(),
        search_attributes=[INTEGRATION_SLUG, INTEGRATION_STATE], ui=False,
    )
    try:
        queue = f"record-{uuid.uuid4().hex[:8]}"
        async with running_worker(env.client, queue):
            for number, (name, text) in enumerate(cases.items(), start=1):
                if (out / f"{name}.json").exists():  # kept: they prove old histories replay
                    print(f"kept {name}.json (delete it to record it again)")
                    continue
                handle = await env.client.start_workflow(
                    IntegrationIntakeWorkflow.run,
                    IntakeInput(repo="demo/integrations", issue_number=number, body=text,
                                requested_by="alice"),
                    id=f"record-{name}", task_queue=queue, result_type=IntakeResult)
                await handle.result()
                history = await handle.fetch_history()
                (out / f"{name}.json").write_text(history.to_json())
                print(f"recorded {name}: {len(history.events)} events")
            # The creation workflow, each case against its own local forge.
            data = Path(os.environ["CCB_DATA_DIR"]) / "creation"
            counts = await record_creation_histories(env.client, queue, data, out)
            # The update workflow and the review it runs, on a forge of their own.
            counts |= await record_update_histories(
                env.client, queue, Path(os.environ["CCB_DATA_DIR"]) / "update", out)
            counts |= await record_monitor_histories(env.client, out)
            for name, events in counts.items():
                print(f"recorded {name}: {events} events")
    finally:
        await env.shutdown()


if __name__ == "__main__":
    asyncio.run(record())
    sys.stdout.flush()
    os._exit(0)
