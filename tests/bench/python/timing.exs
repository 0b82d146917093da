defmodule Oxbeam.Bench.Timing do
  @moduledoc false
  # Timing helpers of the Python benchmarks (python/ and python_pool/). Compiled code:
  # a script's own closures are interpreted by erl_eval, which would add microseconds
  # per call to the measured work.

  # ns per call of fun, over n calls.
  def time(n, fun) do
    t0 = System.monotonic_time(:nanosecond)
    loop(n, fun)
    (System.monotonic_time(:nanosecond) - t0) / n
  end

  defp loop(0, _fun), do: :ok

  defp loop(n, fun) do
    fun.()
    loop(n - 1, fun)
  end

  def median(xs), do: xs |> Enum.sort() |> Enum.at(div(length(xs), 2))

  # The median ns of n calls of fun, each timed on its own: the typical call (on a
  # busy machine a few calls wait milliseconds for a core, and a mean is theirs).
  def typical(n, fun) do
    median(
      for _ <- 1..n do
        t0 = System.monotonic_time(:nanosecond)
        fun.()
        System.monotonic_time(:nanosecond) - t0
      end
    )
  end

  # `rounds` rounds of: the baseline then the work (each a function returning ns);
  # returns {median baseline ns, median work ns, median per-round ratio}.
  def paired(rounds, base, work) do
    pairs =
      for _ <- 1..rounds do
        b = base.()
        {b, work.()}
      end

    {median(Enum.map(pairs, &elem(&1, 0))), median(Enum.map(pairs, &elem(&1, 1))),
     median(Enum.map(pairs, fn {b, w} -> w / b end))}
  end
end
