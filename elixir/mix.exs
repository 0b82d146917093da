defmodule Oxbeam.MixProject do
  use Mix.Project

  def project do
    [
      app: :oxbeam,
      version: "0.1.0",
      elixir: "~> 1.14",
      elixirc_paths: elixirc_paths(Mix.env()),
      test_paths: test_paths(),
      start_permanent: Mix.env() == :prod,
      deps: [],
      # Used at compile time only, by precompiled: (Oxbeam.Precompiled): not started
      # with the user's application.
      xref: [exclude: [:httpc, :inets, :public_key, :crypto]],
      docs: [main: "Oxbeam"]
    ]
  end

  def application do
    [extra_applications: [:logger], mod: {Oxbeam.Application, []}]
  end

  # test_sigil/ is written with multi-letter sigils (~PY"..."), which Elixir 1.14
  # cannot parse: it runs on Elixir >= 1.15 (scripts/test runs it on 1.18).
  defp test_paths do
    if Version.match?(System.version(), ">= 1.15.0"), do: ["test", "test_sigil"], else: ["test"]
  end

  defp elixirc_paths(:test), do: ["lib", "test/support"]
  defp elixirc_paths(_), do: ["lib"]
end
