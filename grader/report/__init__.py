"""What people read: the class report (html.py), each student's feedback page and text
(feedback.py), the text summary (text.py), the gradebook CSV (gradebook.py), terminal-safe
text (terminal.py)."""
