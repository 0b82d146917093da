ExUnit.start()
# Term::inspect prints what this Elixir's inspect/1 prints (charlists differ by version).
true = Oxbeam.Test.Conformance.inspect_set_elixir_version(System.version())
