// The functions a template can call by name: range(), namespace(), dict(), and Hugging
// Face's raise_exception() and strftime_now().
#pragma once

#include <cstdint>

#include "chat/value.h"

namespace hearth::chat {

// Adds the globals to `variables`. strftime_now() reads the clock at `now_unix_seconds`, or
// the system clock when it is negative; it formats in local time, as Hugging Face's does.
// raise_exception(message) fails the rendering with "raise_exception: <message>".
void add_globals(Dict& variables, int64_t now_unix_seconds);

}  // namespace hearth::chat
