"""The grading of one hand-in: loading it (`handin`), the pytest plugin and its options, the
session that grades one or many hand-ins (`runner`, `session`); what it gives is the results
model (`grader.results`)."""
