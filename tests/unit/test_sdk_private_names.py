"""tap_calls relies on a few singer-sdk names that are not public API (each marked `# private SDK API` in the
code). When an SDK upgrade removes or changes one, this test fails here, loudly, instead of the tap failing
somewhere at run time."""

from __future__ import annotations

import inspect

from singer_sdk.configuration import _dict_config
from singer_sdk.plugin_base import PluginBase

from tap_calls.tap import TapCalls


def test_env_var_config_hook_still_exists() -> None:
    # TapCalls._env_var_config replaces PluginBase._env_var_config (to read only ./.env with --config ENV):
    # the SDK must still read the env config through that name when parse_env_config is on.
    assert "_env_var_config" in PluginBase.__dict__
    assert "self._env_var_config" in inspect.getsource(PluginBase.__init__)
    assert isinstance(TapCalls.__dict__["_env_var_config"], property)
    assert "_env_var_prefix" in PluginBase.__dict__
    assert TapCalls._env_var_prefix == "TAP_CALLS_"


def test_parse_environment_config_takes_a_dotenv_path() -> None:
    params = inspect.signature(_dict_config.parse_environment_config).parameters
    assert list(params)[:3] == ["config_schema", "prefix", "dotenv_path"]


def test_validate_config_hook_still_exists() -> None:
    # TapCalls._validate_config adds number coercion, the settings checks and unknown-setting warnings.
    assert "_validate_config" in PluginBase.__dict__
    assert "self._validate_config(" in inspect.getsource(PluginBase.__init__)
    params = inspect.signature(PluginBase._validate_config).parameters
    assert "raise_errors" in params


def test_devnull_reads_as_an_empty_dotenv() -> None:
    # TapCalls._env_var_config passes os.devnull to parse_environment_config so that the SDK loads no .env
    # of its own (it would override variables already set).
    import os

    from dotenv.main import DotEnv

    assert DotEnv(os.devnull).dict() == {}
