"""The test harness itself: mocks that answer like Azure, and tests that can fail."""

from __future__ import annotations

import textwrap
import tomllib

import pulumi
import pulumi_azure_native as azure_native
import pytest

from dev.offline import DEPLOYER_OBJECT_ID, ROOT, SUBSCRIPTION_ID, RecordingMonitor

pytest_plugins = ["pytester"]


def test_a_wrong_assertion_inside_apply_fails_the_test() -> None:
    @pulumi.runtime.test
    def wrong_expectation() -> pulumi.Output[None]:
        def check(value: int) -> None:
            assert value == 2, "the value inside the Output is 1"

        return pulumi.Output.from_input(1).apply(check)

    with pytest.raises(AssertionError, match="the value inside the Output is 1"):
        wrong_expectation()


def test_an_undecorated_test_returning_an_output_is_an_error(pytester: pytest.Pytester) -> None:
    """Without @pulumi.runtime.test the Output is never awaited; our warning filter makes that red."""
    settings = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    filters = "\n".join(f"    {line}" for line in settings["filterwarnings"])
    pytester.makeini(f"[pytest]\nfilterwarnings =\n{filters}\n")
    pytester.makepyfile(
        test_returns_output=textwrap.dedent(
            """
            import pulumi

            def test_returns_an_output():
                return pulumi.Output.from_input(1).apply(lambda v: None)
            """
        )
    )
    result = pytester.runpytest_inprocess("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)


def test_get_client_config_answers_in_camel_case() -> None:
    @pulumi.runtime.test
    def check() -> pulumi.Output[None]:
        client = azure_native.authorization.get_client_config_output()
        return pulumi.Output.all(client.subscription_id, client.object_id).apply(
            lambda values: _assert_equal(values, [SUBSCRIPTION_ID, DEPLOYER_OBJECT_ID])
        )

    check()


def _assert_equal(actual: object, expected: object) -> None:
    assert actual == expected


def test_every_resource_is_recorded_with_its_parent(fresh_mocks: RecordingMonitor) -> None:
    class Holder(pulumi.ComponentResource):
        def __init__(self, name: str) -> None:
            super().__init__("test:index:Holder", name)
            self.group = azure_native.resources.ResourceGroup(
                f"{name}-rg", location="westeurope", opts=pulumi.ResourceOptions(parent=self)
            )
            self.register_outputs({})

    @pulumi.runtime.test
    def build() -> pulumi.Output[str]:
        return Holder("holder").group.id

    build()
    group = next(r for r in fresh_mocks.registered if r.type == "azure-native:resources:ResourceGroup")
    assert group.parent_type == "test:index:Holder"
    assert group.inputs["location"] == "westeurope"
    assert group.id.startswith(f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/holder-rg")


def test_pulumi_random_results_are_filled_in(dev_stack) -> None:  # type: ignore[no-untyped-def]
    suffix = dev_stack.one("random:index/randomString:RandomString")
    result = suffix.outputs["result"]
    assert isinstance(result, str) and len(result) == 6 and result.isalnum() and result.islower()
