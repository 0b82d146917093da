# Tests written with multi-letter sigils (`~PY"..."`), which Elixir 1.14's parser
# rejects: mix.exs lists this directory only on Elixir >= 1.15 (scripts/test runs them
# on Elixir 1.18). The Python environment is the same as test/'s.
Oxbeam.Test.PythonEnv.init!()
ExUnit.start()
