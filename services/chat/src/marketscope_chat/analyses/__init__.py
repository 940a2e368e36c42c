"""Analyses: asynchronous stock and portfolio reports, requested over HTTP and worked
off the chat service's own queue (AnalysisRequested -> worker -> AnalysisProgressed* ->
AnalysisCompleted | AnalysisFailed)."""
