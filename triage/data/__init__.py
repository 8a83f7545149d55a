"""Data files shipped with triage: the jieba user dictionary and the life-threat lexicon."""
