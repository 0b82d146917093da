defmodule Oxbeam.Python.MixProject do
  use Mix.Project

  # The Python bridge (Oxbeam.Python): a package of its own, so that projects that only
  # write NIFs (`use Oxbeam`) need no Python and never build pyo3. It builds the crates
  # ../../python-bridge and ../../python-bridge/loader with `use Oxbeam`.
  def project do
    [
      app: :oxbeam_python,
      version: "0.1.0",
      elixir: "~> 1.14",
      elixirc_paths: elixirc_paths(Mix.env()),
      test_paths: test_paths(),
      start_permanent: Mix.env() == :prod,
      deps: [{:oxbeam, path: ".."}],
      docs: [main: "Oxbeam.Python"]
    ]
  end

  def application do
    [extra_applications: [:logger], mod: {Oxbeam.Python.Application, []}]
  end

  # test_sigil/ is written with multi-letter sigils (~PY"..."), which Elixir 1.14
  # cannot parse: it runs on Elixir >= 1.15 (scripts/test runs it on 1.18).
  defp test_paths do
    if Version.match?(System.version(), ">= 1.15.0"), do: ["test", "test_sigil"], else: ["test"]
  end

  # The test helpers both packages' suites use are compiled from :oxbeam's test/support
  # (one copy of each), with this package's own. Absolute paths: Mix takes relative
  # ones as inside this project.
  @shared_test_support Enum.map(
                         ~w(child_vm.ex eventually.ex nif_stubs.ex no_python.ex point.ex),
                         &Path.expand(Path.join("../test/support", &1), __DIR__)
                       )

  defp elixirc_paths(:test), do: ["lib", "test/support" | @shared_test_support]
  defp elixirc_paths(_), do: ["lib"]
end
