"""The transports in front of the dispatcher: REST (`rest.py`), WebSocket (`websocket.py`), and the mock's own
control API (`control.py`)."""
