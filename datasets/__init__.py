"""The labelled corpus (installed as the ``triage.corpus`` package data); see README.md here."""
