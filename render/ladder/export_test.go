package ladder

// TextWidth is textWidth, for the tests.
var TextWidth = textWidth
