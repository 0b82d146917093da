defmodule Oxbeam.NIF.DecodePropertyTest do
  # Random terms thrown at every decoder of tests/conformance/src/types.rs: each call
  # returns a value or raises ArgumentError, never anything else, and the VM survives.
  use ExUnit.Case, async: true
  alias Oxbeam.Test.Conformance, as: NIF

  @runs 300

  test "every decoder returns a value or raises ArgumentError" do
    :rand.seed(:exsss, {1, 2, 3})

    decoders =
      for {name, 1} <- NIF.__info__(:functions),
          String.starts_with?(Atom.to_string(name), "roundtrip_"),
          do: name

    assert length(decoders) > 25

    for name <- decoders, _ <- 1..@runs do
      term = random_term(3)

      try do
        apply(NIF, name, [term])
      rescue
        e in ArgumentError -> assert e.message =~ "argument 1 (value)"
      end
    end

    assert NIF.add(1, 1) == 2
  end

  defp random_term(0), do: random_leaf()

  defp random_term(depth) do
    case :rand.uniform(10) do
      1 -> Enum.map(1..:rand.uniform(4), fn _ -> random_term(depth - 1) end)
      2 -> List.to_tuple(Enum.map(1..:rand.uniform(4), fn _ -> random_term(depth - 1) end))
      3 -> Map.new(1..:rand.uniform(3), fn _ -> {random_leaf(), random_term(depth - 1)} end)
      4 -> [random_leaf() | random_leaf()]
      5 -> {:ok, random_term(depth - 1)}
      _ -> random_leaf()
    end
  end

  defp random_leaf do
    case :rand.uniform(14) do
      1 ->
        :rand.uniform(300) - 150

      2 ->
        Enum.random([
          0,
          255,
          256,
          -129,
          2 ** 63,
          -(2 ** 63) - 1,
          2 ** 64,
          2 ** 127,
          -(2 ** 127),
          2 ** 200
        ])

      3 ->
        :rand.uniform() * 1.0e10

      4 ->
        Enum.random([true, false, nil, :ok, :error, :a])

      5 ->
        "str#{:rand.uniform(9)}"

      6 ->
        :rand.bytes(:rand.uniform(8))

      7 ->
        <<1::size(3)>>

      8 ->
        []

      9 ->
        self()

      10 ->
        make_ref()

      11 ->
        fn -> :ok end

      12 ->
        {}

      13 ->
        %{}

      14 ->
        1.0
    end
  end
end
