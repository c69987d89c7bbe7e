"""`grader serve`: the submission service. Students upload a hand-in and see their feedback at
once; instructors watch the class and download every export the batch writes.

service.py holds what a running service is (its data folder, database, queue, course file);
app.py makes the Flask app; views/ its pages and API, one module per audience; store.py the
database; queue.py the queue and its graders; grading.py one submission graded; hooks.py the
hook points integrations fill (the LMS's gradebook); server.py the production HTTP server.
"""
