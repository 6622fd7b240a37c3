"""One error hierarchy; the CLI maps each class to an exit code and prints one sentence."""

from __future__ import annotations


class CrmtoolError(Exception):
    """Base of every error crmtool raises on purpose. ``exit_code`` is what the CLI returns."""

    exit_code = 1


class InputError(CrmtoolError):
    """A file cannot be read or its rows do not fit the table (exit 1)."""


class AnalysisError(CrmtoolError):
    """An analysis cannot run on what the store holds (exit 1). ``zh``: the sentence in Chinese, for the
    notes of a Chinese report that names the analysis it could not show."""

    def __init__(self, message: str, zh: str | None = None) -> None:
        super().__init__(message)
        self.zh = zh


class ConfigError(CrmtoolError):
    """The configuration file or an override is invalid (exit 2: the user must change the call)."""

    exit_code = 2


class OutputError(CrmtoolError):
    """An output file cannot be written (disk full, no permission, a folder of its name): exit 1, and
    the file is as it was before (see crmtool.reports.output.atomic_files)."""


class UsageError(CrmtoolError):
    """Options that do not fit together (exit 2)."""

    exit_code = 2


class StoreBusy(CrmtoolError):
    """Another process holds the store longer than ``--wait`` allows (exit 3)."""

    exit_code = 3
