# The NIF benchmark: the same functions built several ways, loaded into this one BEAM.
# Run through scripts/bench, which builds the libraries and passes them as
# `Module=path` pairs (any subset, in any order), then optionally the output file:
#   elixir tests/bench/run.exs Bench.C=libbench_c.so Bench.Oxbeam=libbench_oxbeam_nif.so ... [OUT.md]
# A library may implement only some of the NIFs (the copy-only C NIF, the Fine
# stand-in): its other rows show "—".

{pairs, rest} = Enum.split_with(System.argv(), &String.contains?(&1, "="))
out_file = List.first(rest)

loaded =
  for pair <- pairs, into: %{} do
    [name, path] = String.split(pair, "=", parts: 2)
    {Module.concat([name]), path}
  end

# The columns, in order: {module, heading}. The targets are checked on the default
# release profile's columns; the LTO columns are for comparison.
columns = [
  {Bench.C, "C"},
  {Bench.CCopy, "C, copy only (no UTF-8 check)"},
  {Bench.FineStandIn, "Fine stand-in (C++)"},
  {Bench.Rustler, "Rustler"},
  {Bench.Oxbeam, "oxbeam"},
  {Bench.OxbeamZeroCopy, "oxbeam zero-copy"},
  {Bench.RustlerLto, "Rustler, fat LTO"},
  {Bench.OxbeamLto, "oxbeam, fat LTO"},
  {Bench.OxbeamZeroCopyLto, "oxbeam zero-copy, fat LTO"}
]

unknown = Map.keys(loaded) -- Enum.map(columns, &elem(&1, 0))
unknown == [] or raise "unknown implementation(s): #{inspect(unknown)}"
Map.has_key?(loaded, Bench.C) or raise "Bench.C (the floor) is required"
columns = Enum.filter(columns, fn {m, _} -> Map.has_key?(loaded, m) end)

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

# One module per implementation: stubs, @on_load, and one tight loop per NIF (a direct
# remote call per iteration, as user code makes).
for {module, _} <- columns do
  path = loaded[module] |> Path.rootname() |> String.to_charlist()

  # oxbeam registers each NIF as `__oxbeam_nif__<name>` and `use Oxbeam` defines the
  # public function as a wrapper that calls it and turns an argument error into
  # `:badarg` with EEP 54 error_info (docs/nifs.md, `:badarg`): the oxbeam columns call
  # that wrapper, as users' code does. Its happy path is the one `use Oxbeam` generates
  # (a call inside `try`); only the error branch differs (Oxbeam.NifError is not loaded
  # here: the error is re-raised as it is).
  wrapped? = String.starts_with?(inspect(module), "Bench.Oxbeam")

  stubs =
    for {name, arity} <- nifs do
      args = for i <- 1..arity//1, do: Macro.var(:"_arg#{i}", nil)

      if wrapped? do
        hidden = :"__oxbeam_nif__#{name}"
        vars = Macro.generate_arguments(arity, nil)

        quote do
          def unquote(hidden)(unquote_splicing(args)), do: :erlang.nif_error(:not_loaded)

          def unquote(name)(unquote_splicing(vars)) do
            unquote(hidden)(unquote_splicing(vars))
          catch
            :error, reason -> :erlang.raise(:error, reason, __STACKTRACE__)
          end
        end
      else
        quote do: def(unquote(name)(unquote_splicing(args)), do: :erlang.nif_error(:not_loaded))
      end
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
  ([
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
     end)
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

# Which implementations implement which row: a stub that was not replaced by a NIF
# raises :not_loaded. Every implementation must agree with C before anything is timed.
implements? = fn module, fun, args ->
  try do
    apply(module, fun, args)
    true
  rescue
    e in ErlangError -> if e.original == :not_loaded, do: false, else: reraise(e, __STACKTRACE__)
  end
end

rows =
  for {label, fun, args, kind} <- rows do
    expected = apply(Bench.C, fun, args)
    impls = for {m, _} <- columns, implements?.(m, fun, args), do: m

    for m <- impls, (got = apply(m, fun, args)) != expected do
      raise "#{label}: #{inspect(m)} disagrees with C: #{inspect(got, limit: 5)}"
    end

    {label, fun, args, kind, impls}
  end

target_ms = String.to_integer(System.get_env("BENCH_MS", "200"))
reps = String.to_integer(System.get_env("BENCH_REPS", "7"))

time_ns = fn module, fun, args, iters ->
  loop = :"loop_#{fun}"
  :erlang.garbage_collect()
  t0 = System.monotonic_time(:nanosecond)
  apply(module, loop, [iters | args])
  System.monotonic_time(:nanosecond) - t0
end

# BENCH_CLOCK=cpu times the repetitions with the VM's CPU time (all its threads, in
# ms: keep BENCH_MS at 100 or more; a call slower than BENCH_MS is timed over one call,
# so its CPU time is as coarse as a millisecond) instead of the wall clock: on a machine
# shared with other work, time spent waiting for a core is not counted.
sample_ns =
  case System.get_env("BENCH_CLOCK", "wall") do
    "wall" ->
      time_ns

    "cpu" ->
      fn module, fun, args, iters ->
        loop = :"loop_#{fun}"
        :erlang.garbage_collect()
        {_, _} = :erlang.statistics(:runtime)
        apply(module, loop, [iters | args])
        {_, ms} = :erlang.statistics(:runtime)
        ms * 1_000_000
      end
  end

_ = :rand.seed(:exsss, {14, 14, 14})

median = fn xs -> xs |> Enum.sort() |> Enum.at(div(length(xs), 2)) end

# Each implementation runs about target_ms per repetition: its call count is calibrated
# on its own (one call, then 100 if that was quick), so a slow implementation does not
# stretch the run. ns per call are compared, never totals.
iterations = fn module, fun, args ->
  one = max(time_ns.(module, fun, args, 1), 1)

  # The quickest of three probes: a probe that waited for a core would under-count.
  per_call =
    if one < 1_000_000,
      do: Enum.min(for _ <- 1..3, do: max(time_ns.(module, fun, args, 100), 1)) / 100,
      else: one

  max(round(target_ms * 1_000_000 / per_call), 1)
end

results =
  for {label, fun, args, kind, impls} <- rows do
    iters = Map.new(impls, fn m -> {m, iterations.(m, fun, args)} end)

    # Interleaved, in a new random order each repetition (seeded: the same orders on
    # every run), so that drift, warm-up or the state one implementation leaves behind
    # (in glibc's heap, in the caches) do not favour or burden the one after it.
    # One map of ns per call per repetition: ratios are taken within a repetition
    # (paired), and a row's ratio is their median, so that the machine's speed drifting
    # from one repetition to the next moves both sides of a ratio alike.
    by_rep =
      for _rep <- 1..reps do
        Map.new(Enum.shuffle(impls), fn module ->
          {module, sample_ns.(module, fun, args, iters[module]) / iters[module]}
        end)
      end

    ns = Map.new(impls, fn m -> {m, median.(Enum.map(by_rep, & &1[m]))} end)
    # ratio.(a, b): the median over the repetitions of a's time over b's.
    ratio = fn a, b -> median.(Enum.map(by_rep, &(&1[a] / &1[b]))) end
    IO.write(:stderr, ".")
    {label, kind, ns, ratio}
  end

IO.puts(:stderr, "")

fmt = fn ns -> :erlang.float_to_binary(ns, decimals: 1) end
fmt_ratio = fn r -> :erlang.float_to_binary(r, decimals: 2) end

# Issue 14's targets (default release profile, paired ratios within this run), and
# issue 11's for the derive rows: pass? gets the ratio of the first implementation's
# time to the second's. A check whose implementation is not in the run is left out.
check = fn name, {ns, ratio}, [a, b], pass? ->
  if Map.has_key?(ns, a) and Map.has_key?(ns, b),
    do: [{name, pass?.(ratio.(a, b))}],
    else: []
end

checks_for = fn kind, ns ->
  case kind do
    :scalar ->
      check.("oxbeam ≤ 1.10× C", ns, [Bench.Oxbeam, Bench.C], &(&1 <= 1.10)) ++
        check.("zero-copy ≤ 1.10× C", ns, [Bench.OxbeamZeroCopy, Bench.C], &(&1 <= 1.10))

    :list ->
      check.("oxbeam ≤ 1.30× C", ns, [Bench.Oxbeam, Bench.C], &(&1 <= 1.30)) ++
        check.("zero-copy ≤ 1.15× C", ns, [Bench.OxbeamZeroCopy, Bench.C], &(&1 <= 1.15))

    :string ->
      check.("oxbeam ≤ 1.30× C", ns, [Bench.Oxbeam, Bench.C], &(&1 <= 1.30)) ++
        check.("zero-copy ≤ 1.15× C", ns, [Bench.OxbeamZeroCopy, Bench.C], &(&1 <= 1.15))

    :map ->
      check.(
        "oxbeam ≥ 10% faster than Rustler",
        ns,
        [Bench.Rustler, Bench.Oxbeam],
        &(&1 >= 1.10)
      ) ++
        check.(
          "oxbeam ≥ 10% faster than the Fine stand-in",
          ns,
          [Bench.FineStandIn, Bench.Oxbeam],
          &(&1 >= 1.10)
        ) ++
        check.("zero-copy ≤ 1.15× C", ns, [Bench.OxbeamZeroCopy, Bench.C], &(&1 <= 1.15))

    :derive ->
      check.("oxbeam ≤ 1.30× C", ns, [Bench.Oxbeam, Bench.C], &(&1 <= 1.30)) ++
        check.("zero-copy ≤ 1.30× C", ns, [Bench.OxbeamZeroCopy, Bench.C], &(&1 <= 1.30)) ++
        check.("oxbeam faster than Rustler", ns, [Bench.Oxbeam, Bench.Rustler], &(&1 < 1)) ++
        check.(
          "zero-copy faster than Rustler",
          ns,
          [Bench.OxbeamZeroCopy, Bench.Rustler],
          &(&1 < 1)
        )
  end
end

{lines, misses} =
  Enum.map_reduce(results, [], fn {label, kind, ns, ratio}, misses ->
    cells =
      for {m, _} <- columns do
        cond do
          m == Bench.C -> fmt.(ns[Bench.C])
          t = ns[m] -> "#{fmt.(t)} (#{fmt_ratio.(ratio.(m, Bench.C))}×)"
          true -> "—"
        end
      end

    failed = for {name, false} <- checks_for.(kind, {ns, ratio}), do: name
    verdict = if failed == [], do: "met", else: "missed: " <> Enum.join(failed, "; ")
    line = "| #{label} | #{Enum.join(cells, " | ")} | #{verdict} |"
    {line, if(failed == [], do: misses, else: [{label, failed} | misses])}
  end)

headings =
  for {m, h} <- columns, do: if(m == Bench.C, do: "C ns/call", else: "#{h} ns/call (× C)")

table =
  Enum.join(
    [
      "| row | #{Enum.join(headings, " | ")} | targets (default profile) |",
      "|---|#{String.duplicate("---|", length(headings))}---|"
      | lines
    ],
    "\n"
  )

IO.puts(table)
IO.puts("\n#{length(misses)} row(s) miss a target.")

if out_file do
  File.write!(out_file, table <> "\n")
end
