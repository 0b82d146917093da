import Config

# This example only writes NIFs: do not build oxbeam's Python bridge.
config :oxbeam, python: false
