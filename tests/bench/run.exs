# The NIF benchmark: the same functions built four ways, loaded into this one BEAM.
# Run through scripts/bench, which builds the libraries and passes their paths:
#   elixir tests/bench/run.exs C_LIB RUSTLER_LIB OXBEAM_LIB OXBEAM_ZERO_COPY_LIB [OUT.md]

[c_lib, rustler_lib, oxbeam_lib, zero_copy_lib | rest] = System.argv()
out_file = List.first(rest)

nifs = [
  noop: 0,
  add: 2,
  tuple_swap: 1,
  bin_len: 1,
  echo_string: 1,
  sum_list: 1,
  make_list: 1,
  map_sum: 1,
  make_map: 1,
  # Derived types (issue 11): a struct, a record, a tagged enum.
  point_sum: 1,
  point_new: 1,
  point_bump: 1,
  rec_bump: 1,
  state_step: 1
]

# The struct of the derive rows, decoded and encoded by every implementation.
defmodule Bench.Point4 do
  defstruct x: 0.0, y: 0.0, z: 0.0, w: 0.0
end

impls = [
  {Bench.C, "C", c_lib},
  {Bench.Rustler, "Rustler", rustler_lib},
  {Bench.Oxbeam, "oxbeam", oxbeam_lib},
  {Bench.OxbeamZeroCopy, "oxbeam zero-copy", zero_copy_lib}
]

# One module per implementation: stubs, @on_load, and one tight loop per NIF (a direct
# remote call per iteration, as user code makes).
for {module, _, lib} <- impls do
  path = lib |> Path.rootname() |> String.to_charlist()

  stubs =
    for {name, arity} <- nifs do
      args = for i <- 1..arity//1, do: Macro.var(:"_arg#{i}", nil)
      quote do: def(unquote(name)(unquote_splicing(args)), do: :erlang.nif_error(:not_loaded))
    end

  loops =
    for {name, arity} <- nifs do
      loop = :"loop_#{name}"
      args = Macro.generate_arguments(arity, nil)
      unused = for i <- 1..arity//1, do: Macro.var(:"_arg#{i}", nil)

      quote do
        def unquote(loop)(0, unquote_splicing(unused)), do: :ok

        def unquote(loop)(n, unquote_splicing(args)) do
          unquote(name)(unquote_splicing(args))
          unquote(loop)(n - 1, unquote_splicing(args))
        end
      end
    end

  Code.compile_quoted(
    quote do
      defmodule unquote(module) do
        @on_load :load
        def load, do: :erlang.load_nif(unquote(path), 0)
        unquote_splicing(stubs)
        unquote_splicing(loops)
      end
    end
  )
end

# A valid UTF-8 string of exactly n bytes, one character in three outside ASCII
# ("aé€" is 1 + 2 + 3 bytes), padded with ASCII.
string_of = fn n -> String.duplicate("aé€", div(n, 6)) <> String.duplicate("a", rem(n, 6)) end

rows =
  [
    {"noop/0", :noop, [], :scalar},
    {"add/2", :add, [17, 25], :scalar},
    {"tuple_swap/1", :tuple_swap, [{:a, "b"}], :scalar},
    {"bin_len/1", :bin_len, [:binary.copy("x", 100)], :scalar}
  ] ++
    for n <- [10, 1_000, 100_000] do
      [
        {"echo_string/1 n=#{n}", :echo_string, [string_of.(n)], :string},
        {"sum_list/1 n=#{n}", :sum_list, [Enum.to_list(1..n)], :list},
        {"make_list/1 n=#{n}", :make_list, [n], :list},
        {"map_sum/1 n=#{n}", :map_sum, [Map.new(1..n, &{"k#{&1}", &1})], :map},
        {"make_map/1 n=#{n}", :make_map, [n], :map}
      ]
    end
    |> List.flatten()

# (struct!/2: a script cannot use %Bench.Point4{} in the file that defines it.)
point = struct!(Bench.Point4, x: 1.5, y: 2.5, z: 3.5, w: 4.5)

# Derived types: decode only, encode only, both (struct); both (record, enum).
rows =
  rows ++
    [
      {"point_sum/1 (struct decode)", :point_sum, [point], :derive},
      {"point_new/1 (struct encode)", :point_new, [1.5], :derive},
      {"point_bump/1 (struct both)", :point_bump, [point], :derive},
      {"rec_bump/1 (record both)", :rec_bump, [{:rec, 41, 1.5, true}], :derive},
      {"state_step/1 :idle (enum both)", :state_step, [:idle], :derive},
      {"state_step/1 {:count, n} (enum both)", :state_step, [{:count, 41}], :derive},
      {"state_step/1 {:ratio, r} (enum both)", :state_step, [{:ratio, 1.5}], :derive}
    ]

# BENCH_ROWS=regex runs only the matching rows (for quick experiments).
rows =
  case System.get_env("BENCH_ROWS") do
    nil -> rows
    re -> Enum.filter(rows, fn {label, _, _, _} -> label =~ Regex.compile!(re) end)
  end

# Every implementation must agree before anything is timed.
for {label, fun, args, _} <- rows do
  [expected | others] = for {m, _, _} <- impls, do: apply(m, fun, args)

  for {{m, _, _}, got} <- Enum.zip(tl(impls), others), got != expected do
    raise "#{label}: #{inspect(m)} disagrees with C"
  end
end

target_ms = String.to_integer(System.get_env("BENCH_MS", "200"))
reps = 5

# Calibrate iterations so one repetition of C takes about target_ms.
time_ns = fn module, fun, args, iters ->
  loop = :"loop_#{fun}"
  :erlang.garbage_collect()
  t0 = System.monotonic_time(:nanosecond)
  apply(module, loop, [iters | args])
  System.monotonic_time(:nanosecond) - t0
end

rotate = fn list, k ->
  {front, back} = Enum.split(list, rem(k, length(list)))
  back ++ front
end

median = fn xs -> xs |> Enum.sort() |> Enum.at(div(length(xs), 2)) end

results =
  for {label, fun, args, kind} <- rows do
    probe = max(time_ns.(Bench.C, fun, args, 100), 1)
    iters = max(div(target_ms * 1_000_000 * 100, probe), 10)

    # Interleaved, and the order rotates per repetition, so drift and warm-up do not
    # favour one implementation.
    samples =
      for rep <- 1..reps,
          {module, _, _} <- rotate.(impls, rep),
          reduce: %{} do
        acc ->
          ns = time_ns.(module, fun, args, iters) / iters
          Map.update(acc, module, [ns], &[ns | &1])
      end

    ns = Map.new(samples, fn {m, xs} -> {m, median.(xs)} end)
    IO.write(:stderr, ".")
    {label, kind, ns}
  end

IO.puts(:stderr, "")

fmt = fn ns -> :erlang.float_to_binary(ns, decimals: 1) end
ratio = fn a, b -> :erlang.float_to_binary(a / b, decimals: 2) end

limit = %{scalar: 1.10, list: 1.30, string: 1.30, derive: 1.30}

{lines, misses} =
  Enum.map_reduce(results, [], fn {label, kind, ns}, misses ->
    c = ns[Bench.C]
    r = ns[Bench.Rustler]
    o = ns[Bench.Oxbeam]
    z = ns[Bench.OxbeamZeroCopy]

    checks =
      [
        {"oxbeam ≤ #{limit[kind]}× C", kind == :map or o / c <= limit[kind]},
        {"oxbeam ≥ 2× faster than Rustler", kind != :map or r / o >= 2.0},
        # The derive rows use the same derived types in both oxbeam libraries.
        {"zero-copy ≤ 1.15× C", kind == :derive or z / c <= 1.15},
        {"zero-copy ≤ 1.30× C", kind != :derive or z / c <= 1.30},
        {"oxbeam faster than Rustler", o < r},
        {"zero-copy faster than Rustler", z < r}
      ]

    failed = for {name, false} <- checks, do: name

    line =
      "| #{label} | #{fmt.(c)} | #{fmt.(r)} (#{ratio.(r, c)}×) | #{fmt.(o)} (#{ratio.(o, c)}×) | #{fmt.(z)} (#{ratio.(z, c)}×) | #{if failed == [], do: "met", else: "missed: " <> Enum.join(failed, "; ")} |"

    {line, if(failed == [], do: misses, else: [{label, failed} | misses])}
  end)

table =
  Enum.join(
    [
      "| row | C ns/call | Rustler ns/call (× C) | oxbeam ns/call (× C) | oxbeam zero-copy ns/call (× C) | targets |",
      "|---|---|---|---|---|---|"
      | lines
    ],
    "\n"
  )

IO.puts(table)
IO.puts("\n#{length(misses)} row(s) miss a target.")

if out_file do
  File.write!(out_file, table <> "\n")
end
