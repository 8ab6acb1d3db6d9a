console.log("é");
