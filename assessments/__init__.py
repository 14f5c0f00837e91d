"""Question banks, quizzes and exams, grading with rubrics, practical evaluations."""
