# The Python environment (uv + numpy from PyPI on a fresh machine) is set up before
# any test runs, outside the tests' time limits; the interpreter is started once.
Oxbeam.Test.PythonEnv.init!()
ExUnit.start()
# Term::inspect prints what this Elixir's inspect/1 prints (charlists differ by version).
true = Oxbeam.Test.Conformance.inspect_set_elixir_version(System.version())
