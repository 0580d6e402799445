// The one progress line on stdout, and messages on stderr that never land
// in the middle of it.
#pragma once

namespace bs3l::app {

// GDALTermProgress, remembering whether its line is still open.
void term_progress(double fraction);

// Ends an open progress line, so that the next message starts on its own.
void end_progress_line();

}  // namespace bs3l::app
