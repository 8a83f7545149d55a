"""The shipped trained models (installed as the ``triage.models`` package data)."""
