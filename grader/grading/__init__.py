"""The grading of one hand-in: loading it (`handin`),
the pytest plugin and its options, the session that grades one or many hand-ins (`runner`,
`session`), and the one results model (`results`, Gradescope's) every output is rendered from."""
