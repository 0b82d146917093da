defmodule Oxbeam.Test.Eventually do
  @moduledoc """
  Waiting, with a bound, for what the VM does in the background (destructors after a
  garbage collection, library unloads, Python releasing references).
  """

  @doc "Garbage-collects every process."
  def collect_garbage do
    for pid <- Process.list(), do: :erlang.garbage_collect(pid)
    :ok
  end

  @doc """
  True as soon as `fun.()` is, collecting garbage between tries; false after `tries`
  tries `interval` ms apart.
  """
  def eventually(fun, tries \\ 100, interval \\ 20) do
    cond do
      fun.() ->
        true

      tries == 0 ->
        false

      true ->
        collect_garbage()
        Process.sleep(interval)
        eventually(fun, tries - 1, interval)
    end
  end

  @doc """
  True as soon as two reads of `read.()` 300 ms apart are equal (a counter that has
  stopped, e.g. a Python loop that was interrupted); false after `tries` tries
  `interval` ms apart.
  """
  def stops_changing(read, tries, interval) do
    eventually(
      fn ->
        first = read.()
        Process.sleep(300)
        read.() == first
      end,
      tries,
      interval
    )
  end
end
