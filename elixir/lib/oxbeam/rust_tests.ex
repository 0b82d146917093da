defmodule Oxbeam.RustTests do
  @moduledoc """
  Runs a NIF crate's `#[oxbeam::test]` functions (Rust tests with a real `Env`) as
  ExUnit tests, one ExUnit test per Rust test:

      defmodule MyApp.NativeRustTest do
        use ExUnit.Case, async: true
        use Oxbeam.RustTests, module: MyApp.Native
      end

  A failing Rust test fails its ExUnit test with the test's name, `file:line`, and
  the panic message (with the panic's own `file:line`) or the `Err` it returned.
  The tests are compiled into the NIF library in debug builds (the default for
  `MIX_ENV=test`). Option `except: [names]` leaves tests out (names as listed by
  `MyApp.Native.__oxbeam_tests__/0`, `module::path::function`).
  """

  defmacro __using__(opts) do
    module = opts |> Keyword.fetch!(:module) |> Macro.expand(__CALLER__)
    except = Keyword.get(opts, :except, [])

    case tests_of(module) do
      {:ok, tests} ->
        for {name, file, line} <- tests, name not in except do
          quote do
            test unquote("#{name} (#{file}:#{line})") do
              Oxbeam.RustTests.__run__(
                unquote(module),
                unquote(name),
                unquote("#{file}:#{line}")
              )
            end
          end
        end

      {:error, reason} ->
        quote do
          test unquote("Rust tests of #{inspect(module)}") do
            flunk(unquote(reason))
          end
        end
    end
  end

  defp tests_of(module) do
    with {:module, ^module} <- Code.ensure_compiled(module),
         true <- function_exported?(module, :__oxbeam_tests__, 0) do
      try do
        {:ok, module.__oxbeam_tests__()}
      rescue
        error in Oxbeam.NotLoadedError ->
          {:error,
           "the Rust tests of #{inspect(module)} are compiled into debug builds only " <>
             "(#{Exception.message(error)})"}
      end
    else
      _ ->
        {:error,
         "#{inspect(module)} has no Rust tests: it is not a `use Oxbeam` module " <>
           "built in debug mode"}
    end
  end

  @doc false
  def __run__(module, name, location) do
    case module.__oxbeam_run_test__(name) do
      {:ok, _} ->
        :ok

      {:error, message} ->
        raise ExUnit.AssertionError, message: "#{name} failed (#{location}):\n#{message}"
    end
  end
end
