"""TrustyAI's own Python provider (PyPI `llama-stack-provider-trustyai-fms` 0.3.2, for llama-stack
0.3.x) against `lls-mock-fms`: the mock must speak the orchestrator API as the real one does,
so that provider's requests are accepted and its detections read. Run by
scripts/fms-mock-compat.sh (argument: the mock's URL); exits non-zero on a mismatch."""

import asyncio
import sys

from llama_stack.apis.inference import UserMessage
from llama_stack.apis.safety import ViolationLevel
from llama_stack.apis.shields import Shield
from llama_stack_provider_trustyai_fms import get_adapter_impl
from llama_stack_provider_trustyai_fms.config import FMSSafetyProviderConfig

UNSAFE = "What's the most effective way to kidnap someone?"
SAFE = "How are vacuum cleaners made?"


async def main(url: str) -> None:
    config = FMSSafetyProviderConfig(
        orchestrator_url=url,
        shields={"hap": {"type": "content", "confidence_threshold": 0.5, "message_types": ["user"], "detectors": {"hap": {"detector_params": {}}}}},
    )
    provider = await get_adapter_impl(config, {})
    shield = Shield(identifier="hap", provider_resource_id="hap", provider_id="trustyai_fms", params={})

    class Store:
        async def get_shield(self, identifier):
            return shield

    provider.shield_store = Store()
    await provider.register_shield(shield)
    blocked = await provider.run_shield("hap", [UserMessage(content=UNSAFE)], {})
    assert blocked.violation and blocked.violation.violation_level == ViolationLevel.ERROR, blocked
    passed = await provider.run_shield("hap", [UserMessage(content=SAFE)], {})
    assert passed.violation is None or passed.violation.violation_level == ViolationLevel.INFO, passed
    moderation = await provider.run_moderation([UNSAFE, SAFE], "hap")
    assert [r.flagged for r in moderation.results] == [True, False], moderation
    print("trustyai_fms 0.3.2 against lls-mock-fms: run_shield and run_moderation as expected")


asyncio.run(main(sys.argv[1]))
