"""The course: its file `grader.toml` (`file`), the scores it gives (`scoring`), what students
may see of a result (`visibility`), its attempt rules (`attempts`) and late rules (`late`)."""
