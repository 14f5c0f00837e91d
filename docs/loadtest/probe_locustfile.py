import os

from locust import FastHttpUser, constant, task


class Probe(FastHttpUser):
    wait_time = constant(0)

    @task
    def get(self):
        self.client.get(os.environ["PROBE_PATH"], name="probe")
