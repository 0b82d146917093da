defmodule Oxbeam.NotLoadedError do
  @moduledoc """
  Raised by a NIF function whose library could not be loaded; the message says why.
  """
  defexception [:message]
end
