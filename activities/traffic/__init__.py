"""The blue-green traffic switch: one HAProxy per environment, moved only through its runtime
API (``switch`` holds the operations the deployment activities call)."""
