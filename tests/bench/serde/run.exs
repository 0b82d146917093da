# The serde rows: a nested struct through SerdeTerm<T> against the same type with
# #[derive(oxbeam::Encode, oxbeam::Decode)] (issue 11: serde ≤ 1.5× the derive).
# Run through tests/bench/serde/run.sh, which builds the library and passes its path:
#   elixir tests/bench/serde/run.exs LIB [OUT.md]

[lib | rest] = System.argv()
out_file = List.first(rest)

nifs = [
  derive_decode: 1,
  serde_decode: 1,
  derive_encode: 1,
  serde_encode: 1,
  derive_roundtrip: 1,
  serde_roundtrip: 1,
  derive_flat_decode: 1,
  serde_flat_decode: 1,
  derive_flat_encode: 1,
  serde_flat_encode: 1
]

path = lib |> Path.rootname() |> String.to_charlist()

stubs =
  for {name, arity} <- nifs do
    args = for i <- 1..arity//1, do: Macro.var(:"_arg#{i}", nil)
    quote do: def(unquote(name)(unquote_splicing(args)), do: :erlang.nif_error(:not_loaded))
  end

loops =
  for {name, _} <- nifs do
    loop = :"loop_#{name}"

    quote do
      def unquote(loop)(0, _arg), do: :ok

      def unquote(loop)(n, arg) do
        unquote(name)(arg)
        unquote(loop)(n - 1, arg)
      end
    end
  end

Code.compile_quoted(
  quote do
    defmodule Bench.Serde do
      @on_load :load
      def load, do: :erlang.load_nif(unquote(path), 0)
      unquote_splicing(stubs)
      unquote_splicing(loops)
    end
  end
)

order = fn lines ->
  %{
    __struct__: Bench.Order,
    id: 42,
    customer: %{name: "Ann", email: "ann@example.com", vip: true},
    lines: for(i <- 0..(lines - 1)//1, do: %{sku: "SKU-#{i}", qty: i + 1, price: 9.5}),
    status: {:shipped, 7},
    note: nil
  }
end

rows =
  for lines <- [1, 10, 100],
      {what, arg} <- [decode: order.(lines), encode: lines, roundtrip: order.(lines)] do
    {"Order #{what} (#{lines} lines)", :"derive_#{what}", :"serde_#{what}", arg}
  end ++
    [
      {"8 integer fields decode", :derive_flat_decode, :serde_flat_decode,
       Map.new(~w(a b c d e f g h)a, &{&1, 7})},
      {"8 integer fields encode", :derive_flat_encode, :serde_flat_encode, 7}
    ]

# BENCH_ROWS=regex keeps only the rows whose label matches (for quick comparisons).
rows =
  case System.get_env("BENCH_ROWS") do
    nil -> rows
    pattern -> Enum.filter(rows, fn {label, _, _, _} -> label =~ Regex.compile!(pattern) end)
  end

# Both forms must agree before anything is timed.
for {label, derive, serde, arg} <- rows do
  a = apply(Bench.Serde, derive, [arg])
  b = apply(Bench.Serde, serde, [arg])
  if a != b, do: raise("#{label}: serde disagrees with the derive: #{inspect({a, b})}")
end

target_ms = String.to_integer(System.get_env("BENCH_MS", "200"))
# Repetitions: each one times both forms back to back (the order alternating), and
# the row's ratio is the median of the repetitions' ratios, so that a drift of the
# machine's speed during the run moves both forms of a pair alike.
reps = String.to_integer(System.get_env("BENCH_REPS", "11"))

time_ns = fn fun, arg, iters ->
  :erlang.garbage_collect()
  t0 = System.monotonic_time(:nanosecond)
  apply(Bench.Serde, :"loop_#{fun}", [iters, arg])
  System.monotonic_time(:nanosecond) - t0
end

median = fn xs -> xs |> Enum.sort() |> Enum.at(div(length(xs), 2)) end

lines =
  for {label, derive, serde, arg} <- rows do
    probe = max(time_ns.(derive, arg, 100), 1)
    iters = max(div(target_ms * 1_000_000 * 100, probe), 10)

    # Interleaved, the order alternating per repetition: one {derive, serde} pair of
    # ns/call per repetition.
    pairs =
      for rep <- 1..reps do
        order = if rem(rep, 2) == 0, do: [derive, serde], else: [serde, derive]
        timed = Map.new(order, fn fun -> {fun, time_ns.(fun, arg, iters) / iters} end)
        {timed[derive], timed[serde]}
      end

    d = median.(Enum.map(pairs, &elem(&1, 0)))
    s = median.(Enum.map(pairs, &elem(&1, 1)))
    IO.write(:stderr, ".")
    fmt = fn ns -> :erlang.float_to_binary(ns, decimals: 1) end
    ratio = median.(Enum.map(pairs, fn {dn, sn} -> sn / dn end))
    met = if ratio <= 1.5, do: "met", else: "missed: serde ≤ 1.5× the derive"

    "| #{label} | #{fmt.(d)} | #{fmt.(s)} (#{:erlang.float_to_binary(ratio, decimals: 2)}×) | #{met} |"
  end

IO.puts(:stderr, "")

table =
  Enum.join(
    [
      "| row | derive ns/call | SerdeTerm ns/call (× derive) | target |",
      "|---|---|---|---|"
      | lines
    ],
    "\n"
  )

IO.puts(table)

if out_file, do: File.write!(out_file, table <> "\n")
