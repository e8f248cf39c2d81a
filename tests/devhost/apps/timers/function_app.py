"""Fixture app for devhost timer tests: scheduled functions that record each call in `calls`."""

import asyncio
import threading
from dataclasses import dataclass

import azure.functions as func

app = func.FunctionApp()


@dataclass
class Call:
    name: str
    timer: func.TimerRequest
    thread: str

    @property
    def scheduled(self) -> str:
        """The occurrence this call was for (ScheduleStatus.Next), or "" when not monitored."""
        return self.timer.schedule_status.get("Next", "")


calls: list[Call] = []
# The slow functions run until a test sets this (or ten seconds pass).
gate = threading.Event()


def record(name: str, timer: func.TimerRequest) -> None:
    calls.append(Call(name, timer, threading.current_thread().name))


@app.schedule(schedule="0 */5 * * * *", arg_name="timer")
def every_five_minutes(timer: func.TimerRequest) -> None:
    record("every_five_minutes", timer)


@app.schedule(schedule="0 0 * * * *", arg_name="mytimer", run_on_startup=True)
def hourly_and_on_startup(mytimer: func.TimerRequest) -> None:
    record("hourly_and_on_startup", mytimer)


@app.schedule(schedule="0 */10 * * * *", arg_name="timer")
async def async_every_ten_minutes(timer: func.TimerRequest) -> None:
    record("async_every_ten_minutes", timer)


@app.schedule(schedule="0 */5 * * * *", arg_name="timer")
def always_fails(timer: func.TimerRequest) -> None:
    record("always_fails", timer)
    raise ValueError("downstream service unavailable")


@app.schedule(schedule="0 * * * * *", arg_name="timer")
def slow_sync(timer: func.TimerRequest) -> None:
    record("slow_sync", timer)
    gate.wait(timeout=10)


@app.schedule(schedule="0 * * * * *", arg_name="timer")
async def slow_async(timer: func.TimerRequest) -> None:
    record("slow_async", timer)
    for _ in range(10_000):
        if gate.is_set():
            return
        await asyncio.sleep(0.001)


@app.schedule(schedule="*/10 * * * * *", arg_name="timer")
def every_ten_seconds(timer: func.TimerRequest) -> None:
    record("every_ten_seconds", timer)


@app.schedule(schedule="%TIMER_SCHEDULE%", arg_name="timer")
def from_app_setting(timer: func.TimerRequest) -> None:
    record("from_app_setting", timer)


@app.schedule(schedule="00:20:00", arg_name="timer")
def every_twenty_minutes_timespan(timer: func.TimerRequest) -> None:
    record("every_twenty_minutes_timespan", timer)
