defmodule Oxbeam.Python.TimeoutError do
  @moduledoc "Raised by `Oxbeam.Python.eval/3` when its `:timeout` expires."
  defexception [:message]
end
